"""Projects, campaigns and the assignment of lead pools to campaigns."""
