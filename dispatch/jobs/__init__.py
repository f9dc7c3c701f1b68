"""Jobs: intake, dispatch to the authorised service point, lifecycle and SLA."""
