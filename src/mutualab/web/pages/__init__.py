"""Page handlers: thin, they call the services and render templates."""
