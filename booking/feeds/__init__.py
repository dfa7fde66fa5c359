"""Calendar export: private subscription feeds, public busy feeds and single-booking files."""
