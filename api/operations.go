package api

// registerOperations adds every operation; each group lives in its own file.
func (s *Server) registerOperations() {
	s.registerHealth()
	s.registerCommands()
}
