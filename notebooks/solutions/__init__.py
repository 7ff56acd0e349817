"""Reference solutions to the lessons' exercises, one module per lesson."""
