package api

// ReadModels is what the API needs of the read side's queries.
type ReadModels interface{}
