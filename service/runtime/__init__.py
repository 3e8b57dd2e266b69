"""The faust-streaming edge: topics, tables and agents around `service.pipeline`."""
