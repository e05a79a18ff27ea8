"""The account-support assistant of the MOST government service platform."""
