"""After-sales care: maintenance plans, notifications, ratings and callbacks, complaints."""
