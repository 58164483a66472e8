// Checks that every Flink class, method and field the bridge jar references (as javap lists them)
// exists, with the same descriptor, on the classpath it runs with (a Flink distribution lib/):
// a NoSuchMethodError / NoClassDefFoundError found without running the code path.
// Usage: java -cp FLINK_LIB_JARS FlinkApiRefs.java REFS_FILE   (see api-compat.sh)
import java.nio.file.*; import java.util.*; import java.lang.reflect.*;
public class FlinkApiRefs {
  static String desc(Class<?> c){ if(c.isPrimitive()){ if(c==void.class)return "V"; if(c==int.class)return "I"; if(c==long.class)return "J"; if(c==boolean.class)return "Z"; if(c==byte.class)return "B"; if(c==short.class)return "S"; if(c==char.class)return "C"; if(c==float.class)return "F"; return "D";} if(c.isArray()) return "["+desc(c.getComponentType()).replace('.','/'); return "L"+c.getName().replace('.','/')+";"; }
  static String d(Executable m){ StringBuilder b=new StringBuilder("("); for(Class<?> p:m.getParameterTypes()) b.append(desc(p)); b.append(")"); b.append(m instanceof Method? desc(((Method)m).getReturnType()):"V"); return b.toString(); }
  static boolean has(Class<?> c, String name, String ds, Set<Class<?>> seen){ if(c==null||!seen.add(c)) return false;
    if(name.equals("\"<init>\"")||name.equals("<init>")){ for(Constructor<?> k:c.getDeclaredConstructors()) if(d(k).equals(ds)) return true; return false; }
    for(Method m:c.getDeclaredMethods()) if(m.getName().equals(name)&&d(m).equals(ds)) return true;
    if(has(c.getSuperclass(),name,ds,seen)) return true; for(Class<?> i:c.getInterfaces()) if(has(i,name,ds,seen)) return true; return false; }
  public static void main(String[] a) throws Exception { int bad=0;
    for(String l:Files.readAllLines(Path.of(a[0]))){ String[] p=l.split(" ",3); String kind=p[1], ref=p[2];
      try{ if(kind.equals("class")){ Class.forName(ref.replace('/','.'),false,FlinkApiRefs.class.getClassLoader()); continue; }
        int dot=ref.indexOf('.'), colon=ref.indexOf(':'); String cn=ref.substring(0,dot).replace('/','.'); String name=ref.substring(dot+1,colon); String ds=ref.substring(colon+1);
        Class<?> c=Class.forName(cn,false,FlinkApiRefs.class.getClassLoader());
        if(kind.equals("Field")){ boolean ok=false; for(Class<?> x=c;x!=null&&!ok;x=x.getSuperclass()) for(Field f:x.getDeclaredFields()) if(f.getName().equals(name)&&desc(f.getType()).equals(ds)) ok=true; if(!ok){System.out.println("MISSING "+l);bad++;} continue; }
        if(!has(c,name.replace("\"",""),ds,new HashSet<>())){ System.out.println("MISSING "+l); bad++; }
      }catch(Throwable t){ System.out.println("MISSING "+l+" : "+t); bad++; } }
    System.out.println("checked, missing="+bad); }
}
