"""The gradebook: categories, course grades, overrides, exports and course completion."""
