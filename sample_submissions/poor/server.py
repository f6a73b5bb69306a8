import json
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs, unquote
import utils
from utils import PASSWORD, API_KEY

requests_count = 0
last_query = None


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        global requests_count, last_query
        requests_count = requests_count + 1
        print("request", requests_count, self.path)
        try:
            u = urlparse(self.path)
            params = parse_qs(u.query)
            if u.path == "/" or u.path == "/health":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"ok": True, "chunks": len(utils.CHUNKS), "requests": requests_count}).encode())
            elif u.path == "/search":
                if "q" in params:
                    q = params["q"][0]
                    last_query = q
                    k = 5
                    if "k" in params:
                        k = eval(params["k"][0])
                    res = utils.search(q, k)
                    if "answer" in params:
                        if params["answer"][0] == "1":
                            ans = utils.ask_llm(q, res)
                            res = {"answer": ans, "results": res}
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps(res).encode())
                else:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b"missing q")
            elif u.path == "/file" or u.path.startswith("/documents/"):
                if u.path == "/file":
                    path = params["path"][0]
                else:
                    path = unquote(u.path[len("/documents/"):])
                print("opening", path)
                try:
                    f = open(path)
                    data = f.read()
                    f.close()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(data.encode())
                except:
                    if path in utils.DOCS:
                        self.send_response(200)
                        self.end_headers()
                        self.wfile.write(utils.DOCS[path].encode())
                    else:
                        self.send_response(404)
                        self.end_headers()
                        self.wfile.write(b"not found")
            elif u.path == "/stats":
                stats = {}
                for c in utils.CHUNKS:
                    if c["file"] in stats:
                        stats[c["file"]] = stats[c["file"]] + 1
                    else:
                        stats[c["file"]] = 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"chunks_per_file": stats, "terms": len(utils.INDEX)}).encode())
            elif u.path == "/reindex":
                if "folder" in params:
                    n = utils.build_index(params["folder"][0])
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(("reindexed " + str(n)).encode())
                else:
                    self.send_response(400)
                    self.end_headers()
            elif u.path == "/admin":
                if "password" in params:
                    if params["password"][0] == PASSWORD:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.end_headers()
                        info = {
                            "requests": requests_count,
                            "last_query": last_query,
                            "docs": list(utils.DOCS.keys()),
                            "api_key": API_KEY,
                            "settings": {"chunk_size": utils.CHUNK_SIZE, "overlap": utils.OVERLAP},
                        }
                        self.wfile.write(json.dumps(info).encode())
                    else:
                        self.send_response(403)
                        self.end_headers()
                        self.wfile.write(b"wrong password")
                else:
                    self.send_response(401)
                    self.end_headers()
            else:
                self.send_response(404)
                self.end_headers()
                self.wfile.write(b"???")
        except Exception as e:
            print("ERROR", e)
            self.send_response(500)
            self.end_headers()
            self.wfile.write(str(e).encode())


def run(port=8080):
    print("server on port", port, "key", API_KEY)
    s = HTTPServer(("0.0.0.0", port), H)
    s.serve_forever()
