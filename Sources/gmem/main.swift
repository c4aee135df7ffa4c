print("gmem")
