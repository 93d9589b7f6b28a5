"""A run directory and its staging: streamed draws and the final assembly (:mod:`.store`), the ArviZ
``DataTree`` of ``posterior.nc`` (:mod:`.arviz_export`), orbax checkpoints of the sampler state
(:mod:`.checkpoint`)."""
