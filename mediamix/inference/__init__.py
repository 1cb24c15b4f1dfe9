"""mediamix.inference: NUTS, SVI and MAP fits, diagnostics, and the FittedModel."""
