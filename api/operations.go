package api

// registerOperations adds every operation; each group lives in its own file.
func (s *Server) registerOperations() {
	s.registerHealth()
	s.registerCommands()
	s.registerReads()
	s.registerHistory()
	s.registerIntegrity()
	s.registerAttachments()
	s.registerFeed()
}
