"""PostgreSQL connection capacity of an RDS instance class, shared by the config check (pool x
workers x tasks) and the connections alarm, so both use the same number."""

from __future__ import annotations

# RDS PostgreSQL's default max_connections is LEAST(DBInstanceClassMemory / 9531392, 5000).
BYTES_PER_CONNECTION = 9531392
MAX_CONNECTIONS_CEILING = 5000
# Instance memory (GiB) by size; the burstable and general-purpose classes this project offers
# share it. An unknown size counts as 4 GiB (medium), the middle of the table.
MEMORY_GIB_BY_SIZE = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
                      "4xlarge": 64, "8xlarge": 128}
UNKNOWN_SIZE_MEMORY_GIB = 4
# Leave a fifth of the connections for migrations, operators (bastion tunnels) and RDS itself.
USABLE_FRACTION = 0.8


def memory_gib(instance_class: str) -> int:
    return MEMORY_GIB_BY_SIZE.get(instance_class.rsplit(".", 1)[-1], UNKNOWN_SIZE_MEMORY_GIB)


def default_max_connections(instance_class: str) -> int:
    """PostgreSQL's default max_connections on ``instance_class`` (e.g. db.t4g.micro -> 112)."""
    return min(memory_gib(instance_class) * 2**30 // BYTES_PER_CONNECTION, MAX_CONNECTIONS_CEILING)


def usable_connections(instance_class: str) -> int:
    """80% of the default max_connections: the budget for LiteLLM's pools, and the alarm level."""
    return int(default_max_connections(instance_class) * USABLE_FRACTION)
