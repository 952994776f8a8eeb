"""Everything that touches Keras: network bodies, their training loop and batches, prediction."""
