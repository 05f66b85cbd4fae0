"""Reports for the centre's managers and funders: aggregates, charts and exports."""
