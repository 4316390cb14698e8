"""WTForms forms of the web UI (CSRF through Flask-WTF)."""
