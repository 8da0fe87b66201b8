"""HTTP routes, included into the app in one place (`web.app.create_app`)."""
