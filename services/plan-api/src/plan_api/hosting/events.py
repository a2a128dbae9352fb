"""Hosting events on ``plan.events`` (payloads in docs/events.md); acceptance is announced as
``plan.activity.hosted.v1`` by the activities context."""

HOSTING_OFFERED = "plan.hosting.offered.v1"
