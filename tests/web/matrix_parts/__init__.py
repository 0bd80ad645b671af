"""Route × role classifications of feature areas, merged into tests/web/test_access_matrix.py."""
