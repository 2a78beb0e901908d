"""Statistics: NaN-ignoring reductions, quantiles, covariance, distances, integration."""
