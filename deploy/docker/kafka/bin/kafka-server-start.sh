#!/bin/bash
# As Apache Kafka's kafka-server-start.sh.
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$@"
