package candidate

func (s *Server) registerPortal() {}
