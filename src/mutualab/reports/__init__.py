"""Statistics and exports of the places' activity, for their managers and the platform's
administrators: read across the domains (bookings, billing, the catalogue, people), like the
manager's overview, and never written to."""
