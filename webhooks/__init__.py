"""Signed outgoing webhooks: subscriptions to the published events, delivered after commit.

A manager (their places) or a platform administrator (any place) subscribes an HTTPS address
to events (:data:`webhooks.events.EVENT_TYPES`). The subscriber of the events
(:mod:`webhooks.fanout`) records one delivery per matching subscription and queues it; the job
(:mod:`webhooks.delivery`) posts it, signed per the Standard Webhooks specification, retries
with exponential backoff for up to three days, and disables a subscription whose deliveries
keep failing. The shell wires it all with :func:`webhooks.wiring.register`.
"""
