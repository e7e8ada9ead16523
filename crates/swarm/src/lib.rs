//! Talks to the Docker engine: stack deploy/rm, convergence from events, secrets, volumes, exec, janitor by labels.
