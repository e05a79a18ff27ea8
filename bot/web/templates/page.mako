## The frame of every account page: the title twice, the page's own small style
## sheet (the pages' policy allows inline styles, no scripts), the body.
<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} - 科技部政务服务平台</title>
<style>body{font-family:sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem;line-height:1.6}
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#b00020}</style>
</head><body><h1>${title}</h1>${next.body()}</body></html>\
