"""sop domain."""
