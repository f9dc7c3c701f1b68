"""Service network and warranty registry: regions, service points, technicians, products, customers, units."""
