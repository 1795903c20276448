"""Events: intake, the batch writer, routing, the lifecycle, KPIs and the bulk import."""
