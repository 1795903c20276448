"""Who is calling and what they may see: users, sign-in, tokens, roles and scopes.

- :mod:`api.auth.models`: users, API tokens, browser sessions;
- :mod:`api.auth.service`: passwords, tokens, sessions, user administration;
- :mod:`api.auth.principal`: the caller of a request and the SQL of their scope;
- :mod:`api.auth.access`: deny by default — the one gate every route goes through;
- :mod:`api.auth.throttle`: failed sign-ins counted per account and per address;
- :mod:`api.auth.router`: sign-in, sign-out, ``/me``, the sign-in page;
- :mod:`api.auth.admin`: users and tokens for admins (included by the router);
- :mod:`api.auth.schemas`: their bodies and answers.
"""
