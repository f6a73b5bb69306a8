import sys
import os
import json
import time
import subprocess
from utils import *
import utils

history = []
settings = {"k": 5, "show_text": True, "max_len": 300}


def main():
    global history, settings
    print("=== DOC QA ===")
    if len(sys.argv) > 1:
        cmd = sys.argv[1]
        if cmd == "index":
            if len(sys.argv) > 2:
                folder = sys.argv[2]
                cs = None
                ov = None
                if len(sys.argv) > 3:
                    cs = int(sys.argv[3])
                    if len(sys.argv) > 4:
                        ov = int(sys.argv[4])
                t = time.time()
                n = build_index(folder, cs, ov)
                print("done in", time.time() - t, "seconds,", n, "chunks")
                # show disk usage
                os.system("du -sh " + folder)
            else:
                print("usage: python main.py index FOLDER [chunk_size] [overlap]")
        elif cmd == "query":
            load()
            if len(sys.argv) > 2:
                q = sys.argv[2]
                k = settings["k"]
                if len(sys.argv) > 3:
                    k = eval(sys.argv[3])
                try:
                    results = search(q, k)
                    if len(results) == 0:
                        print("nothing found")
                    else:
                        for r in results:
                            print("-----")
                            print(r["file"], round(r["score"], 3))
                            if settings["show_text"]:
                                if len(r["text"]) > settings["max_len"]:
                                    print(r["text"][:settings["max_len"]] + "...")
                                else:
                                    print(r["text"])
                except:
                    print("error while searching")
            else:
                print("usage: python main.py query QUESTION [k]")
        elif cmd == "serve":
            import server
            load()
            port = 8080
            if len(sys.argv) > 2:
                port = int(sys.argv[2])
            server.run(port)
        elif cmd == "open":
            # open a file from the results in the editor
            if len(sys.argv) > 2:
                subprocess.call("cat " + sys.argv[2], shell=True)
        else:
            print("unknown command", cmd)
        return
    # interactive mode
    load()
    while True:
        try:
            line = input("question> ")
        except:
            print("bye")
            break
        if line == "":
            continue
        if line == "quit" or line == "exit":
            print("bye")
            break
        if line.startswith(":"):
            # commands like :k 3 or :set max_len 100
            parts = line[1:].split(" ")
            if parts[0] == "k":
                if len(parts) > 1:
                    settings["k"] = eval(parts[1])
                    print("k =", settings["k"])
                else:
                    print("k =", settings["k"])
            elif parts[0] == "set":
                if len(parts) > 2:
                    settings[parts[1]] = eval(" ".join(parts[2:]))
                    print(settings)
                else:
                    print("usage :set name value")
            elif parts[0] == "index":
                if len(parts) > 1:
                    build_index(parts[1])
                else:
                    print("usage :index folder")
            elif parts[0] == "history":
                for h in history:
                    print(h)
            elif parts[0] == "save":
                try:
                    f = open("history.json", "w")
                    f.write(json.dumps(history))
                    f.close()
                except:
                    print("could not save history")
            elif parts[0] == "calc":
                print(eval(" ".join(parts[1:])))
            else:
                print("unknown command")
            continue
        history.append(line)
        try:
            results = search(line, settings["k"])
        except:
            print("search failed")
            continue
        if len(results) == 0:
            print("nothing found")
        else:
            n = 0
            for r in results:
                n = n + 1
                if n <= settings["k"]:
                    print(str(n) + ".", r["file"], "score:", round(r["score"], 3))
                    if settings["show_text"]:
                        if len(r["text"]) > settings["max_len"]:
                            print("   " + r["text"][:settings["max_len"]] + "...")
                        else:
                            print("   " + r["text"])
            if settings.get("llm"):
                print("ANSWER:", ask_llm(line, results))
        if len(history) > 100:
            history = history[-100:]


if __name__ == "__main__":
    main()
