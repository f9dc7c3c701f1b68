"""What integrators (ERP, CRM) get from dispatch: outbound events (webhooks) through a transactional
outbox, and machine clients."""
