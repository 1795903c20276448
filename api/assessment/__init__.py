"""The assessment (考核): scores and rankings of streets, communities, departments, workers."""
