-- One round trip and nothing else: what the link costs (the netem runs
-- measure it through bench/netdelay and straight to the server).
SELECT 1;
