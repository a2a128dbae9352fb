"""Events between services: the CloudEvents envelope, the outbox, the inbox and the bus."""
