"""What services share: payload and event schemas, the application catalogue, the member
communes and the error types that cross RPC. Schemas, constants and reference data only —
no behaviour and no Nameko import, so that the contracts outlive the framework."""
