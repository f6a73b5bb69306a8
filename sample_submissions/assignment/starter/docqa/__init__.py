"""docqa: document question answering (retrieval). Your implementation goes here."""
