"""Who may use assetctl. Public face: `permissions` (roles, `Principal`, `require`),
`accounts` (register, login, session checks, logout, password change), `users` (admin
user management), `logins` (PostgreSQL logins bound to users). `store` routes the writes
through PostgreSQL's definer functions; `tokens` and `passwords` are the primitives.
"""
