// The dashboard page (placeholder).
