"""Server-rendered pages of the hotline. Every POST goes through hotline.services; reads through
hotline.selectors. One module per desk: intake, dispatch, workbench, supervisor, tickets, search, audit."""
