"""Small helpers shared across ganzoo (image grids and PNG files in `images`)."""
