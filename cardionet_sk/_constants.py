"""Names fixed by the PTB-XL release and the published CardioNet model."""

#: The five PTB-XL diagnostic superclasses, in the order of the benchmark (Strodthoff et al. 2020).
SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")

#: Lead order of every PTB-XL record, as written in its WFDB header.
LEADS = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")

#: Per-class thresholds of the published CardioNet-XL release.
PUBLISHED_THRESHOLDS = {"NORM": 0.17, "MI": 0.34, "STTC": 0.43, "CD": 0.41, "HYP": 0.33}

#: Name of the output layer of every network. Saved weights are stored by layer name, so it
#: is part of the saved-model format.
HEAD_LAYER = "probabilities"
