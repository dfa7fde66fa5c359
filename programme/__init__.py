"""The programme of a place: sessions (workshops, trainings, events) with seats, the resources
they occupy (booked through the booking engine), registrations and attendance."""
