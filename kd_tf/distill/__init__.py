"""Teacher ensembles, distillation losses and the Distiller model."""
