package candidate

func (s *Server) registerSCIM() {}
