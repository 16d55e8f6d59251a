"""Human3.6M video readers."""
