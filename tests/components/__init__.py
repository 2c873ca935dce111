"""Components alone, under the Pulumi mocks."""
