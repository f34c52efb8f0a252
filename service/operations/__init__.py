"""Entry points: one module per operation (an admin action, a command, a worker pass), each
owning its transaction, and the helpers that run inside one of them."""
